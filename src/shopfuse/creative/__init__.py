"""Creative selection per audience: impression logs, policies, off-policy evaluation, bandits.

Importing the package registers the policies (kind ``policy``) and the off-policy estimators
(kind ``ope_estimator``).
"""

from shopfuse.creative import bandits, ope, policy

__all__ = ["bandits", "ope", "policy"]
