"""Trained shop models: learned joint space, fusion and attribute heads in one folder."""

from shopfuse.model.attributes import AttributeHeads, Prediction
from shopfuse.model.shop_model import MODEL_FILE, ModelConfig, ShopModel

__all__ = ["MODEL_FILE", "AttributeHeads", "ModelConfig", "Prediction", "ShopModel"]
