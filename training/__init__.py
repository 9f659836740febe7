"""sonodiff training toolkit (PyTorch). Models are exported to ONNX and run in TypeScript."""
