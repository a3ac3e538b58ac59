"""The card API simulator: a Plutus-shaped API over a deterministic Sparkov-like data set (docs/simulator.md)."""
