"""Neural vocoder for the digits mel model (Vocos-style ConvNeXt over frames -> complex STFT)."""
