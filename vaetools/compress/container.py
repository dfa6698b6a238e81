"""The .vtz container: magic, version, a JSON header, the decoder weights and row chunks, each
with a CRC32, and an index at the end so that a reader can fetch only the chunks it needs.

Layout (little endian):

    magic      8 bytes  b"\\x89VTZ\\r\\n\\x1a\\n"  (catches text-mode mangling, as PNG's does)
    version    u16      format version; readers refuse versions newer than they know
    flags      u16      bit 0: the header is deflated (zlib)
    header     u32 length, UTF-8 JSON (deflated when flagged), u32 CRC32
    weights    u64 length, bytes, u32 CRC32
    chunk *    u64 length, payload, u32 CRC32; payload = u32 section count, (u32 length, bytes)*
    index      u32 chunk count, (u64 offset, u64 first row, u64 rows)*, u32 CRC32
    trailer    u64 offset of the index, 8 bytes b"VTZ-END\\0"

Nothing in the file is executed when it is read: JSON and raw arrays only.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from vaetools._files import write_atomically

MAGIC = b"\x89VTZ\r\n\x1a\n"
TRAILER = b"VTZ-END\x00"
# 2: int8 weight matrices (codec.pack_weights); 3: the decoder's autoregressive branch, its
# masked matrices stored without their masked-out entries; 4: each chunk ends with a CRC32 of
# what it decodes to (codec.decoded_check); 5: a column's missing-cell marks may be coded given
# an earlier column's (entropy.GivenBits), and a categorical column's probabilities corrected per
# block of rows (codec.calibrated); 6: columns stored as they are (compress's passthrough, the
# header's "passthrough" entries, one section each before the check; compress.verbatim), and the
# rows' labels likewise (the header's "index", one section per level after those), weight
# matrices as entropy-coded integers (codec.pack_weights), and latent codes optionally under
# models fitted to them (the header's latent "models"; entropy.FactorizedLatents); 7: column
# names, index names and categories that JSON has no value for (tuples of a MultiIndex,
# Periods, Intervals, ...) as ``tabular.labels`` writes them, and the schema's ``ordered`` for
# ordered categories. Older versions are still read. A header may also hold "metadata", text
# key-value pairs from compress's caller, which no reader needs to decode the table (added in
# version 7's lifetime: readers that do not know it ignore it). 8: dates, timestamps, periods and
# durations modelled as integer columns of whole steps (the schema's extra["time"],
# ``tabular.times``), which a reader of 7 would decode as plain numbers; a file without them is
# still written as 7, which older readers read. 9: symbol alphabets wider than the 2**24 symbols
# the entropy coder takes (error bounds of 1e-8 of a range, quantization of 1e-7) coded as a
# coarse part and uniform low bits (``entropy._push_ranged``), which readers of 8 cannot decode;
# a file without them is written as 8 or 7. 10: times of day (``tabular.times``, kind
# "timeofday"), whose description readers of 9 refuse as damaged; a file without them is
# written as 9, 8 or 7. 11: decimals counted in whole units of their last place (the schema's
# extra["decimal"], ``tabular.decimals``), which readers of 10 would give back as units (cents
# for dollars); a file without them is written as 10 or older. 12: times of day whose day starts
# elsewhere than at midnight (``tabular.times``: the description's origin), which readers of 11
# refuse as damaged; a file without them is written as 11 or older. ``codec.oldest_version`` picks.
FORMAT_VERSION = 12
VERSION_WITHOUT_TIMES = 7
VERSION_WITHOUT_SPLIT = 8
VERSION_WITHOUT_TIME_OF_DAY = 9
VERSION_WITHOUT_DECIMALS = 10
VERSION_WITHOUT_DAY_STARTS = 11
FLAG_DEFLATED_HEADER = 1
# the most header JSON a reader inflates, and so a writer writes: deflate can expand ~1000x, and
# without a cap a small hostile file could make the reader allocate gigabytes. A header holds the
# schema, category lists and scalers: adult's is about 8 kB (2.4 kB deflated)
MAX_HEADER_BYTES = 256 << 20
# the most cells (rows x columns) a chunk may hold, and so a reader allocates for one: a chunk's
# row count is the index's word, and a hostile file could state billions in a few bytes.
# 65,536 rows of 1,024 columns; a writer takes fewer rows per chunk for wider tables
MAX_CHUNK_CELLS = 1 << 26


class VTZError(ValueError):
    """A .vtz file that is not ours, damaged, or from a newer version."""


@dataclass
class ChunkInfo:
    offset: int
    first_row: int
    rows: int


def _crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def pack_sections(sections: list[bytes]) -> bytes:
    out = [struct.pack("<I", len(sections))]
    for s in sections:
        out.append(struct.pack("<I", len(s)))
        out.append(s)
    return b"".join(out)


def unpack_sections(payload: bytes, where: str) -> list[bytes]:
    try:
        (n,) = struct.unpack_from("<I", payload, 0)
        pos, out = 4, []
        for _ in range(n):
            (length,) = struct.unpack_from("<I", payload, pos)
            pos += 4
            if pos + length > len(payload):
                raise struct.error
            out.append(payload[pos:pos + length])
            pos += length
        return out
    except struct.error:
        raise VTZError(f"corrupted {where}: its sections do not add up") from None


def write(path: Path, header: dict, weights: bytes, chunks: list[tuple[int, int, bytes]],
          overwrite: bool = False, version: int = FORMAT_VERSION) -> dict:
    """Write the file atomically (temp file + rename); returns bytes by section. ``version``:
    the oldest format that holds what the header describes, for older readers' sake."""
    path = Path(path)
    text = json.dumps(header, separators=(",", ":")).encode()
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"the table's description (schema, categories, scalers) takes {len(text):,} bytes, "
                         f"more than a .vtz header may hold ({MAX_HEADER_BYTES:,}); compress fewer columns "
                         "at a time or store high-cardinality columns elsewhere")
    head = zlib.compress(text, 9)
    parts = [MAGIC, struct.pack("<HH", version, FLAG_DEFLATED_HEADER), struct.pack("<I", len(head)), head,
             struct.pack("<I", _crc(head)), struct.pack("<Q", len(weights)), weights,
             struct.pack("<I", _crc(weights))]
    offset = sum(len(p) for p in parts)
    index = [struct.pack("<I", len(chunks))]
    chunk_bytes = 0
    for first_row, rows, payload in chunks:
        index.append(struct.pack("<QQQ", offset, first_row, rows))
        block = struct.pack("<Q", len(payload)) + payload + struct.pack("<I", _crc(payload))
        parts.append(block)
        offset += len(block)
        chunk_bytes += len(block)
    index_blob = b"".join(index)
    parts += [index_blob, struct.pack("<I", _crc(index_blob)), struct.pack("<Q", offset), TRAILER]

    def write_parts(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            for p in parts:
                fh.write(p)

    write_atomically(path, write_parts, overwrite)
    return {"header": len(head) + 20, "weights": len(weights) + 12, "chunks": chunk_bytes,
            "index": len(index_blob) + 4 + 16, "total": offset + len(index_blob) + 4 + 16}


class Reader:
    """Validating reader: the header, weights and index on open; chunks on demand."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path} does not exist")
        self.size = self.path.stat().st_size
        self.fh = open(self.path, "rb")
        try:
            self._read_front()
            self._read_index()
        except Exception:
            self.fh.close()
            raise

    def close(self):
        self.fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _exact(self, n: int, what: str) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise VTZError(f"{self.path} is truncated: it ends inside the {what}")
        return data

    def _read_front(self):
        magic = self.fh.read(len(MAGIC))
        if magic != MAGIC:
            raise VTZError(f"{self.path} is not a vaetools .vtz file (its first bytes are not the .vtz magic)")
        self.version, self.flags = struct.unpack("<HH", self._exact(4, "version"))
        if self.version > FORMAT_VERSION:
            raise VTZError(f"{self.path} was written in .vtz format version {self.version}, newer than "
                           f"this vaetools reads ({FORMAT_VERSION}); upgrade vaetools to read it")
        (hlen,) = struct.unpack("<I", self._exact(4, "header"))
        if hlen > self.size:
            raise VTZError(f"{self.path} is truncated or corrupted: header length {hlen} exceeds the file size")
        head = self._exact(hlen, "header")
        self.header_bytes = hlen + 4 + 4  # as stored: length, (deflated) JSON, CRC
        (crc,) = struct.unpack("<I", self._exact(4, "header checksum"))
        if _crc(head) != crc:
            raise VTZError(f"{self.path} is corrupted: the header checksum does not match")
        try:
            raw = head
            if self.flags & FLAG_DEFLATED_HEADER:
                inflate = zlib.decompressobj()
                raw = inflate.decompress(head, MAX_HEADER_BYTES)
                if inflate.unconsumed_tail:
                    raise VTZError(f"{self.path} is corrupted or hostile: its header inflates to more than "
                                   f"{MAX_HEADER_BYTES:,} bytes, which vaetools never writes")
                if not inflate.eof:
                    raise zlib.error("the deflated header is incomplete")
            self.header = json.loads(raw.decode())
        except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VTZError(f"{self.path} is corrupted: the header does not parse ({exc})") from None
        (wlen,) = struct.unpack("<Q", self._exact(8, "weights"))
        if wlen > self.size:
            raise VTZError(f"{self.path} is truncated or corrupted: weights length {wlen} exceeds the file size")
        self.weights = self._exact(wlen, "decoder weights")
        (crc,) = struct.unpack("<I", self._exact(4, "weights checksum"))
        if _crc(self.weights) != crc:
            raise VTZError(f"{self.path} is corrupted: the decoder weights checksum does not match")

    def _read_index(self):
        if self.size < len(TRAILER) + 8:
            raise VTZError(f"{self.path} is truncated: no trailer")
        self.fh.seek(self.size - len(TRAILER) - 8)
        (index_offset,) = struct.unpack("<Q", self._exact(8, "trailer"))
        if self._exact(len(TRAILER), "trailer") != TRAILER:
            raise VTZError(f"{self.path} is truncated or corrupted: the end-of-file marker is missing")
        if index_offset >= self.size:
            raise VTZError(f"{self.path} is corrupted: bad index offset")
        self.fh.seek(index_offset)
        blob = self.fh.read(self.size - len(TRAILER) - 8 - index_offset)
        body, crc = blob[:-4], blob[-4:]
        if len(crc) != 4 or _crc(body) != struct.unpack("<I", crc)[0]:
            raise VTZError(f"{self.path} is corrupted: the chunk index checksum does not match")
        (n,) = struct.unpack_from("<I", body, 0) if len(body) >= 4 else (-1,)
        if len(body) != 4 + 24 * n:
            raise VTZError(f"{self.path} is corrupted: the chunk index does not add up")
        self.chunks = [ChunkInfo(*struct.unpack_from("<QQQ", body, 4 + 24 * i)) for i in range(n)]
        row, end = 0, 0
        for i, ch in enumerate(self.chunks):  # in file order, back to back, rows numbered on
            if ch.first_row != row or ch.offset < end or ch.offset >= index_offset:
                raise VTZError(f"{self.path} is corrupted: chunk {i} of the index is out of place")
            row, end = row + ch.rows, ch.offset + 12
        self.chunk_bytes = index_offset - (self.chunks[0].offset if self.chunks else index_offset)

    def chunk(self, i: int) -> list[bytes]:
        info = self.chunks[i]
        self.fh.seek(info.offset)
        (length,) = struct.unpack("<Q", self._exact(8, f"chunk {i}"))
        if length > self.size:  # before reading: a forged length would have read() allocate it
            raise VTZError(f"{self.path} is truncated or corrupted: chunk {i}'s length {length:,} exceeds the file size")
        payload = self._exact(length, f"chunk {i}")
        (crc,) = struct.unpack("<I", self._exact(4, f"chunk {i} checksum"))
        where = f"chunk {i} (rows {info.first_row}-{info.first_row + info.rows - 1})"
        if _crc(payload) != crc:
            raise VTZError(f"{self.path} is corrupted: checksum mismatch in {where}")
        return unpack_sections(payload, where)
