"""The cs231n assignment 3 (2019 and 2020 releases) module layout over vislab's own code.

A notebook changes ``from cs231n.X import *`` into ``from vislab.cs231n.X import *`` and nothing else: every
name keeps the course's signature and return convention, and calls vislab's implementation inside (see
docs/cs231n.md for what differs). `rel_error` is the helper the notebooks define in a cell.
"""

from ..nn.gradcheck import rel_error

__all__ = ["rel_error"]
