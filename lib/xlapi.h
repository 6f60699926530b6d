/*
 * libxl and libxlutil, loaded when first needed (lib/xlapi.c).
 *
 * Linked, libxl brings nine more libraries into every process that links
 * liblitedvm.so (its own, libxlutil, libxenguest and the compressors,
 * libyajl, libuuid, libxenhypfs): under emulation their loading is some
 * 30 ms of every exec, paid by a pooled or named dvm-run that never calls
 * libxl.  So liblitedvm does not link them: their functions are reached
 * through a table that ldvm__xl_load fills with dlopen(3) and dlsym(3).
 *
 * A file that calls libxl includes this header after ldvm_internal.h: each
 * function it calls is then a name for the table's entry, and its calls
 * read as libxl's.  Every path reaches ldvm__xl_load before its first
 * call (ldvm__xl_need): connecting libxl (ldvm_connect) and loading a
 * template or reading litedvm.conf (config.c) load it; the rest runs
 * with a libxl context or a loaded template.  A function missing from
 * the table is a link error of liblitedvm.so (--no-undefined), not a
 * crash.
 */
#ifndef LDVM_XLAPI_H
#define LDVM_XLAPI_H

#include <libxl.h>
#include <libxl_utils.h>
#include <libxlutil.h>

#include "ldvm_internal.h"

/* F(function) for each function liblitedvm calls. */
#define LDVM__XL_FUNCS(F) \
	F(libxl_ctx_alloc) F(libxl_ctx_free) F(libxl_postfork_child_noexec) \
	F(libxl_device_disk_dispose) F(libxl_device_disk_getinfo) \
	F(libxl_device_disk_init) F(libxl_device_disk_list) \
	F(libxl_device_nic_dispose) F(libxl_device_nic_init) \
	F(libxl_device_nic_list) F(libxl_diskinfo_dispose) \
	F(libxl_diskinfo_init) F(libxl_domain_build_info_init_type) \
	F(libxl_domain_config_copy) F(libxl_domain_config_dispose) \
	F(libxl_domain_config_init) F(libxl_domain_config_to_json) \
	F(libxl_domain_create_new) F(libxl_domain_destroy) \
	F(libxl_domid_to_name) F(libxl_dominfo_list_free) \
	F(libxl_evdisable_domain_death) F(libxl_evenable_domain_death) \
	F(libxl_event_check) F(libxl_event_free) F(libxl_get_free_memory) \
	F(libxl_list_domain) F(libxl_name_to_domid) \
	F(libxl_osevent_afterpoll) F(libxl_osevent_beforepoll) \
	F(libxl_set_memory_target) F(libxl_uuid_compare) \
	F(libxl_uuid_from_string) F(libxl_uuid_generate) \
	F(libxl_wait_for_memory_target)
#define LDVM__XLU_FUNCS(F) \
	F(xlu_cfg_destroy) F(xlu_cfg_get_list) F(xlu_cfg_get_listitem) \
	F(xlu_cfg_get_long) F(xlu_cfg_get_string) F(xlu_cfg_init) \
	F(xlu_cfg_readdata) F(xlu_disk_parse) F(xlu_vif_parse_rate)

#define LDVM__XL_ENTRY(f) __typeof__(&f) f;
struct ldvm__xlapi {
	LDVM__XL_FUNCS(LDVM__XL_ENTRY)
	LDVM__XLU_FUNCS(LDVM__XL_ENTRY)
};
#undef LDVM__XL_ENTRY

LDVM_HIDDEN extern struct ldvm__xlapi ldvm__xl;

/*
 * Loads libxl and libxlutil once per process and fills ldvm__xl: NULL, or
 * why not (dlerror's words).  Callers use ldvm__xl_need (ctx.c).
 */
LDVM_HIDDEN const char *ldvm__xl_load(void);

#ifndef LDVM__XLAPI_TABLE
#define libxl_ctx_alloc (ldvm__xl.libxl_ctx_alloc)
#define libxl_ctx_free (ldvm__xl.libxl_ctx_free)
#define libxl_postfork_child_noexec (ldvm__xl.libxl_postfork_child_noexec)
#define libxl_device_disk_dispose (ldvm__xl.libxl_device_disk_dispose)
#define libxl_device_disk_getinfo (ldvm__xl.libxl_device_disk_getinfo)
#define libxl_device_disk_init (ldvm__xl.libxl_device_disk_init)
#define libxl_device_disk_list (ldvm__xl.libxl_device_disk_list)
#define libxl_device_nic_dispose (ldvm__xl.libxl_device_nic_dispose)
#define libxl_device_nic_init (ldvm__xl.libxl_device_nic_init)
#define libxl_device_nic_list (ldvm__xl.libxl_device_nic_list)
#define libxl_diskinfo_dispose (ldvm__xl.libxl_diskinfo_dispose)
#define libxl_diskinfo_init (ldvm__xl.libxl_diskinfo_init)
#define libxl_domain_build_info_init_type \
	(ldvm__xl.libxl_domain_build_info_init_type)
#define libxl_domain_config_copy (ldvm__xl.libxl_domain_config_copy)
#define libxl_domain_config_dispose (ldvm__xl.libxl_domain_config_dispose)
#define libxl_domain_config_init (ldvm__xl.libxl_domain_config_init)
#define libxl_domain_config_to_json (ldvm__xl.libxl_domain_config_to_json)
#define libxl_domain_create_new (ldvm__xl.libxl_domain_create_new)
#define libxl_domain_destroy (ldvm__xl.libxl_domain_destroy)
#define libxl_domid_to_name (ldvm__xl.libxl_domid_to_name)
#define libxl_dominfo_list_free (ldvm__xl.libxl_dominfo_list_free)
#define libxl_evdisable_domain_death (ldvm__xl.libxl_evdisable_domain_death)
#define libxl_evenable_domain_death (ldvm__xl.libxl_evenable_domain_death)
#define libxl_event_check (ldvm__xl.libxl_event_check)
#define libxl_event_free (ldvm__xl.libxl_event_free)
#define libxl_get_free_memory (ldvm__xl.libxl_get_free_memory)
#define libxl_list_domain (ldvm__xl.libxl_list_domain)
#define libxl_name_to_domid (ldvm__xl.libxl_name_to_domid)
#define libxl_osevent_afterpoll (ldvm__xl.libxl_osevent_afterpoll)
#define libxl_osevent_beforepoll (ldvm__xl.libxl_osevent_beforepoll)
#define libxl_set_memory_target (ldvm__xl.libxl_set_memory_target)
#define libxl_uuid_compare (ldvm__xl.libxl_uuid_compare)
#define libxl_uuid_from_string (ldvm__xl.libxl_uuid_from_string)
#define libxl_uuid_generate (ldvm__xl.libxl_uuid_generate)
#define libxl_wait_for_memory_target (ldvm__xl.libxl_wait_for_memory_target)
#define xlu_cfg_destroy (ldvm__xl.xlu_cfg_destroy)
#define xlu_cfg_get_list (ldvm__xl.xlu_cfg_get_list)
#define xlu_cfg_get_listitem (ldvm__xl.xlu_cfg_get_listitem)
#define xlu_cfg_get_long (ldvm__xl.xlu_cfg_get_long)
#define xlu_cfg_get_string (ldvm__xl.xlu_cfg_get_string)
#define xlu_cfg_init (ldvm__xl.xlu_cfg_init)
#define xlu_cfg_readdata (ldvm__xl.xlu_cfg_readdata)
#define xlu_disk_parse (ldvm__xl.xlu_disk_parse)
#define xlu_vif_parse_rate (ldvm__xl.xlu_vif_parse_rate)
#endif

#endif
