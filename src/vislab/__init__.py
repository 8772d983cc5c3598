"""vislab: seeing and generating with neural networks, written to be read and checked to be trusted."""

import os as _os

# Before torch loads its OpenMP runtime: threads that wait for work sleep instead of spinning. On a busy machine
# a spinning pool fights other processes for cores it does not get (bench/under_load.py measures it); on an idle
# one passive waiting costs little. A value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
