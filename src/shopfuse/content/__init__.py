"""Marketing content grounded in each product's facts: copy, its evaluation, and product Q&A.

Importing the package registers the copy generators (kind ``copy_generator``): ``phrases``, the
default (the shop's own phrasing, no language model), and ``llm`` (a local GGUF model).
"""

from shopfuse.content import generate, llm

__all__ = ["generate", "llm"]
