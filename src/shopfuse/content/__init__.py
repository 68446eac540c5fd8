"""Marketing content grounded in each product's facts: copy, its evaluation, and product Q&A."""
