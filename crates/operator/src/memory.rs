//! Giving the heap's free pages back to the system.
//!
//! glibc's malloc keeps what a reconcile freed (its render, the objects it
//! read) in the arena of the thread that freed it, one arena per worker
//! thread, and returns little of it by itself: with one install the
//! operator's heap held about twice what it used. Trimming after each
//! reconcile returns the free pages of every arena. musl's malloc (the
//! container image's) returns freed memory itself; there this does nothing.

/// Returns the heap's free pages to the system (glibc only).
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointer and is thread-safe; it only
        // releases memory malloc holds free.
        unsafe {
            malloc_trim(0);
        }
    }
}
