import sys

from nbparity.cli import main

sys.exit(main())
