"""Recommendations and user profiles from multimodal content and real behaviour."""

from shopfuse.recommend.complements import ComplementModel
from shopfuse.recommend.engine import METHODS, InteractionLog, Recommendations
from shopfuse.recommend.interactions import Event, Interactions, read_interactions, write_interactions
from shopfuse.recommend.methods import (
    ContentRecommender,
    HybridRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    Recommender,
)
from shopfuse.recommend.profiles import Profile, Segment, build_profile, segment_users
from shopfuse.recommend.space import ItemSpace

__all__ = [
    "METHODS",
    "ComplementModel",
    "ContentRecommender",
    "Event",
    "HybridRecommender",
    "InteractionLog",
    "Interactions",
    "ItemKNNRecommender",
    "ItemSpace",
    "PopularityRecommender",
    "Profile",
    "Recommendations",
    "Recommender",
    "Segment",
    "build_profile",
    "read_interactions",
    "segment_users",
    "write_interactions",
]
