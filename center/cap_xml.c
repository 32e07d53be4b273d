/* cap_xml.c: being written. */
typedef int aw_cap_xml_unused_;
