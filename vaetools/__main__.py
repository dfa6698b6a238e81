import sys

from vaetools.cli import main

sys.exit(main())
