import sys

from vaetools.cli.commands import main

sys.exit(main())
