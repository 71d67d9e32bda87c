# shellcheck shell=bash
# Sourced by the load benches. One load generator on loopback is every client at once: lift the per-client-address
# and per-sender limits (docs/security.md) unless the caller set them, so that the scenarios measure the silo, not its
# abuse limits. Silos started afterwards (embedded, or by deploy/local/cluster.sh) inherit them. The failed-login
# budgets stay: a load test logs in with right passwords. The load generator reads its verification codes from the
# development sender's files, so a bench cluster runs that sender (never a production one).
for limit in AnonymousLimits__RegistrationBurst=1000000 AnonymousLimits__LinkBurst=1000000 \
    AnonymousLimits__ProvisioningBurst=1000000 Provisioning__MaxSocketsPerClientAddress=1000000 \
    SenderLimits__MessagesPerDeviceBurst=10000000 SenderLimits__MessagesPerDestinationBurst=10000000 \
    SenderLimits__CallsPerDeviceBurst=10000000 SenderLimits__CallsPerDestinationBurst=10000000 \
    SenderLimits__IcePerDeviceBurst=10000000 AnonymousLimits__VerificationBurst=1000000 \
    Verification__MaxCodesPerNumber=1000000 VerificationSender__AllowDevelopmentInCluster=true; do
    name="${limit%%=*}"
    [[ -n "${!name:-}" ]] || export "$limit"
done
unset limit name
