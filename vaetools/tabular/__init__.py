"""Tables <-> tensors: schema inference, scaling, category lists. No torch models here."""

from .encoding import EncodedTable, TableEncoder
from .schema import KINDS, ColumnSpec, infer_schema, mark_zero_masses

__all__ = ["ColumnSpec", "EncodedTable", "KINDS", "TableEncoder", "infer_schema", "mark_zero_masses"]
