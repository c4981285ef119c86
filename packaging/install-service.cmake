# Runs at `cmake --install` time (install(SCRIPT) in the root CMakeLists.txt), when
# CMAKE_INSTALL_PREFIX is the prefix actually installed to, so `--prefix T` gives a unit whose
# ExecStart is T/bin/oemlink. OEMLINK_PACKAGING_DIR and OEMLINK_STAGING_DIR are set just before.
#
#   <prefix>/lib/systemd/system/oemlink.service   the unit, paths rendered for the prefix
#   <etc>/oemlink/oemlink.yaml                    the default config, never over an edited one
#
# <etc> is /etc for the prefix /usr (as GNUInstallDirs does), else <prefix>/etc.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(etc "/etc")
else()
  set(etc "${prefix}/etc")
endif()

# Two installs at once (parallel tests) must not share their scratch files.
string(RANDOM LENGTH 12 scratch)
set(stage "${OEMLINK_STAGING_DIR}/install-${scratch}")

file(READ "${OEMLINK_PACKAGING_DIR}/oemlink.service" unit)
string(REPLACE "/usr/bin/oemlink " "${prefix}/bin/oemlink " unit "${unit}")
string(REPLACE "/etc/oemlink/oemlink.yaml" "${etc}/oemlink/oemlink.yaml" unit "${unit}")
string(REPLACE "file:/usr/share/doc/oemlink/" "file:${prefix}/share/doc/oemlink/" unit "${unit}")
file(WRITE "${stage}/oemlink.service" "${unit}")
file(INSTALL "${stage}/oemlink.service"
  DESTINATION "${prefix}/lib/systemd/system"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# An operator's edited config survives a reinstall: the new default lands beside it as .new.
set(config_dir "$ENV{DESTDIR}${etc}/oemlink")
set(config_name oemlink.yaml)
if(EXISTS "${config_dir}/oemlink.yaml")
  file(SHA256 "${config_dir}/oemlink.yaml" installed_hash)
  file(SHA256 "${OEMLINK_PACKAGING_DIR}/oemlink.yaml" new_hash)
  if(NOT installed_hash STREQUAL new_hash)
    set(config_name oemlink.yaml.new)
    message(STATUS "Kept the edited ${config_dir}/oemlink.yaml; the new default is oemlink.yaml.new")
  endif()
endif()
configure_file("${OEMLINK_PACKAGING_DIR}/oemlink.yaml" "${stage}/${config_name}" COPYONLY)
file(INSTALL "${stage}/${config_name}"
  DESTINATION "${etc}/oemlink"
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(REMOVE_RECURSE "${stage}")
