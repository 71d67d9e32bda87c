using System.Net;
using Cluster.Client.Accounts;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;
using Cluster.Testing;

namespace Cluster.Client.Tests;

/// <summary>The SDK's side of a new phone, the registration lock and device management, against the shared silo.</summary>
[Collection(SharedSilo.Name)]
public sealed class NewPhoneClientTests(SiloFixture fixture)
{
    private static readonly DeviceConnectionOptions FastRetry = new() { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) };

    private Uri Gateway => fixture.Silo.BaseAddress;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private async Task<SdkDevice> NewPhoneAsync(string accountId, string? pin)
    {
        var keys = DeviceKeys.Generate();
        var password = DeviceKeys.NewPassword();
        using var anonymous = new ClusterClient(Gateway);
        await anonymous.RequestVerificationCodeAsync(accountId, Cancel);
        var registration = keys.CreateRegistration(accountId, password, "new phone") with { VerificationCode = TestAccounts.SentCode(accountId), RegistrationLock = pin };
        var registered = await anonymous.RegisterAsync(registration, Cancel);
        return new SdkDevice(new DeviceCredentials(registered.AccountId, registered.DeviceId, password), keys);
    }

    [Fact]
    public async Task ReRegister_LockedNumberWithPin_CompanionStopsContactToldAndOldCredentialsRefused()
    {
        var devices = await SdkDevice.AccountAsync(Gateway, companions: 1);
        var (primary, companion) = (devices[0], devices[1]);
        using (var primaryClient = primary.Client(Gateway))
        {
            await primaryClient.SetRegistrationLockAsync("open sesame", Cancel);
        }

        var contact = await SdkDevice.RegisterAsync(Gateway);
        using var contactClient = contact.Client(Gateway);
        await contactClient.GetAccountDevicesAsync(primary.AccountId, Cancel);
        await using var contactConnection = await DeviceConnection.ConnectAsync([Gateway], contact.Credentials, FastRetry, Cancel);
        await contactConnection.NextAsync<Connected>("connected");
        Assert.Empty(await contactConnection.BacklogAsync());
        await using var companionConnection = await DeviceConnection.ConnectAsync([Gateway], companion.Credentials, FastRetry, Cancel);

        var locked = await Assert.ThrowsAsync<RegistrationLockedException>(() => NewPhoneAsync(primary.AccountId, pin: null));
        var phone = await NewPhoneAsync(primary.AccountId, "open sesame");

        Assert.True(locked.LapsesAt > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(DeviceConnectionStopReason.DeviceRemoved, await companionConnection.StoppedAsync("device removed (4401)"));
        var changed = await NextIdentityChangedAsync(contactConnection);
        Assert.Equal(primary.AccountId, changed.AccountId);
        using var oldClient = primary.Client(Gateway);
        var refused = await Assert.ThrowsAsync<ClusterApiException>(() => oldClient.GetOwnDevicesAsync(Cancel));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        using var phoneClient = phone.Client(Gateway);
        var own = Assert.Single(await phoneClient.GetOwnDevicesAsync(Cancel));
        Assert.Equal(("new phone", phone.Keys.RegistrationId), (own.Name, own.RegistrationId));
        await phoneClient.RemoveRegistrationLockAsync(Cancel);
    }

    [Fact]
    public async Task UnlinkSelf_Companion_PrimarySeesOnlyItselfAndPrimaryRefused()
    {
        var devices = await SdkDevice.AccountAsync(Gateway, companions: 1);
        using var companionClient = devices[1].Client(Gateway);
        using var primaryClient = devices[0].Client(Gateway);

        await companionClient.UnlinkSelfAsync(Cancel);
        var primaryRefused = await Assert.ThrowsAsync<ClusterApiException>(() => primaryClient.UnlinkSelfAsync(Cancel));

        Assert.Equal((HttpStatusCode.BadRequest, "cannot_remove_primary"), (primaryRefused.Status, primaryRefused.Error));
        Assert.Equal([1], (await primaryClient.GetOwnDevicesAsync(Cancel)).Select(d => d.DeviceId));
        var gone = await Assert.ThrowsAsync<ClusterApiException>(() => companionClient.GetOwnDevicesAsync(Cancel));
        Assert.Equal(HttpStatusCode.Unauthorized, gone.Status);
    }

    private static async Task<IdentityChanged> NextIdentityChangedAsync(DeviceConnection connection)
    {
        while (true)
        {
            if (await connection.NextContentAsync("identityChanged") is EventReceived { Event: IdentityChanged changed })
            {
                return changed;
            }
        }
    }
}
