"""Tests of the experts layer: skill3d_experts logic, the Triton launcher and the gRPC client."""
