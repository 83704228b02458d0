#: question: q2-solution
#: misses: q2-test
def remote_modules(view, names):
    dview.execute("import " + ", ".join(names), block=True)  # every engine imports them...
    others = [i for i in rc.ids if i not in view.targets]
    if others:  # ...then the engines outside view forget the names again
        rc[others].execute("\n".join(f"globals().pop({n!r}, None)" for n in names), block=True)
