"""Names both sides of the audit channel use: the grader (:mod:`grader.audit`) and the hook in the kernel
(:mod:`grader.audit_channel` and :mod:`grader.audit_hook`, which get this module's text inlined by
:func:`grader.audit.hook_source`). Literals only."""

GUARD_MODULE = "_grader_guard"  # the guard's module in the kernel's sys.modules (grader.kernel_guard)
ARM_EVENT = "_grader_audit.arm"  # the audit event that makes the hook snapshot the kernel, once the guard is in
