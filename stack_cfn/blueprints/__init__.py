"""Template builders: pure functions from the model to troposphere Templates, over one declared contract per interface."""
