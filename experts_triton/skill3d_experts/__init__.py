"""Server side of the Skill-3D experts: code that runs inside Triton's Python backend.

Kept apart from `skill3d_eval` because it lives in another environment (numpy < 2,
the bundled Triton Python-backend stub) exactly as a Triton container would.
"""
