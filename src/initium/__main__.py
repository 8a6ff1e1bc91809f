import sys

from initium.cli import main

sys.exit(main())
