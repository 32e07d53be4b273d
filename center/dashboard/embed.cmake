# Embeds the dashboard's files (index.html, style.css, the ES modules) into the
# daemon as C arrays, so `GET /` needs nothing on disk. Sets AW_DASHBOARD_C.
set(AW_DASHBOARD_DIR ${CMAKE_CURRENT_LIST_DIR})
set(AW_DASHBOARD_FILES
    index.html style.css app.js api.js dom.js format.js widgets.js
    picture.js alarms.js hazards.js alerts.js edges.js)
set(AW_DASHBOARD_C ${CMAKE_CURRENT_BINARY_DIR}/dashboard_assets.c)
string(REPLACE ";" "," _files "${AW_DASHBOARD_FILES}")
set(_deps)
foreach(f ${AW_DASHBOARD_FILES})
  list(APPEND _deps ${AW_DASHBOARD_DIR}/${f})
endforeach()
add_custom_command(
  OUTPUT ${AW_DASHBOARD_C}
  COMMAND ${CMAKE_COMMAND} -DDIR=${AW_DASHBOARD_DIR} -DFILES=${_files}
          -DOUT=${AW_DASHBOARD_C} -P ${AW_DASHBOARD_DIR}/embed_run.cmake
  DEPENDS ${_deps} ${AW_DASHBOARD_DIR}/embed_run.cmake
  COMMENT "Embedding the dashboard" VERBATIM)
