"""The image classifier's build, apart from the runtime path: torchvision's MobileNetV2
checkpoint read without torch, written as an ONNX graph, and its model card.
"""
