"""Shared parts of the sonodiff training recipes: EDM diffusion, features, data, UNet, EMA/checkpoints, export."""
