"""What every trained part of shopfuse shares: the contrastive loss and the early-stopping rule.

Low in the layering on purpose: nothing here imports a model, an encoder or a store.
:mod:`~shopfuse.training.losses` needs torch; :mod:`~shopfuse.training.early_stopping` does not.
"""
