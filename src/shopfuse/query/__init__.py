"""Query understanding and attribute-aware ranking."""

from shopfuse.query.understanding import Constraint, ParsedQuery, QueryUnderstanding, tokenize

__all__ = ["Constraint", "ParsedQuery", "QueryUnderstanding", "tokenize"]
