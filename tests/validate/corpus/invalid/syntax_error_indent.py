def f(score):
return 1  # expect: CAD001
