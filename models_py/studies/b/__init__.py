"""Study B ("Goodbye Norway"): the stay / return / onward multinomial logit and its outputs."""
