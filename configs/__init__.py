"""Training configurations (ml_collections): `python train.py --config=configs/<file>.py[:arg]`."""
