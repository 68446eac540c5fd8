"""Creative selection per audience: impression logs, policies, off-policy evaluation, bandits.

Importing the package registers the policies (kind ``policy``).
"""

from shopfuse.creative import bandits, policy

__all__ = ["bandits", "policy"]
