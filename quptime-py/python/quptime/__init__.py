"""quptime: embed a quorum-based uptime monitor node in Python.

Importing this package starts no threads and installs no logging handler.
"""

from quptime._native import version

__all__ = ["version"]
