print("bitvit")
