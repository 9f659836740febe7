"""Class-conditional mel-spectrogram diffusion of the spoken digits zero..nine (FSDD)."""
