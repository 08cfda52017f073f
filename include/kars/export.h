/* kars: the export macro shared by every public header. */
#ifndef KARS_EXPORT_H
#define KARS_EXPORT_H

/* KARS_API marks a function as part of the public ABI. The library builds with hidden visibility
 * and a linker version script, so only functions marked here and named kars_* are exported. */
#if defined(_WIN32)
#  if defined(KARS_BUILDING_LIBRARY)
#    define KARS_API __declspec(dllexport)
#  else
#    define KARS_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define KARS_API __attribute__((visibility("default")))
#else
#  define KARS_API
#endif

#endif /* KARS_EXPORT_H */
