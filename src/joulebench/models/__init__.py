"""Model loading: packaged default, Hub ids, local paths, tiny random test models."""

from joulebench.models.loading import MODEL_ALIASES, LoadedModel, load_classifier, resolve_model

__all__ = ["MODEL_ALIASES", "LoadedModel", "load_classifier", "resolve_model"]
