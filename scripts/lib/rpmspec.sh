# Sourced by scripts/demo.sh and scripts/bench-rollout.sh: the one recipe for their test packages.
# rpm_build TOPDIR NAME VERSION RELEASE SUMMARY DATADIR [WHEN] [REQUIRES] [EXTRA_INSTALL_LINE]
# builds one noarch package holding DATADIR/NAME/VERSION ("NAME VERSION-RELEASE: SUMMARY"), with a
# changelog entry dated WHEN (rpm's `Tue Jan 21 2025`; default today) and prints the .rpm's path.
rpm_build() {
  local top=$1 name=$2 version=$3 release=$4 summary=$5 data=$6
  local when=${7:-$(date -u '+%a %b %d %Y')} requires=${8:-} extra=${9:-}
  mkdir -p "$top/SPECS"
  cat > "$top/SPECS/$name-$version-$release.spec" <<SPEC
Name: $name
Version: $version
Release: $release
Summary: $summary
License: MIT
BuildArch: noarch
Vendor: obs://build.opensuse.org/devel:openQA
${requires:+Requires: $requires}
%define _build_id_links none
%define __os_install_post %{nil}
%description
$summary
%install
mkdir -p %{buildroot}$data/$name
echo "$name $version-$release: $summary" > %{buildroot}$data/$name/VERSION
$extra
%files
$data/$name
%changelog
* $when Tidemark Packager <packager@example.com> - $version-$release
- $summary
SPEC
  rpmbuild --quiet --define "_topdir $top" -bb "$top/SPECS/$name-$version-$release.spec" >/dev/null 2>&1
  echo "$top/RPMS/noarch/$name-$version-$release.noarch.rpm"
}
