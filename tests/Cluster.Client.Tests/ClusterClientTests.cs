using System.Net;
using System.Text;
using System.Text.Json;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;
using Cluster.Client.Provisioning;
using Cluster.Signal;
using Cluster.Testing;

namespace Cluster.Client.Tests;

[Collection(SharedSilo.Name)]
public sealed class ClusterClientTests(SiloFixture fixture)
{
    private Uri Gateway => fixture.Silo.BaseAddress;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Link_ThroughProvisioningRelay_CompanionJoinsAndOthersVerifyItsSignatures()
    {
        var primary = await SdkDevice.RegisterAsync(Gateway);
        using var primaryClient = primary.Client(Gateway);

        // The new device waits on a provisioning socket and shows its address and identity key in a QR code.
        var companionKeys = DeviceKeys.Generate();
        await using var provisioning = await ProvisioningSocket.OpenAsync(Gateway, Cancel);

        // The primary scans it, grants key index 1 and sends token and grant through the relay.
        var token = await primaryClient.CreateLinkTokenAsync(Cancel);
        var grant = primary.Keys.GrantLink(primary.AccountId, 1, companionKeys.IdentityKey, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var body = JsonSerializer.Serialize(new ProvisioningMessage(token.Token, grant));
        await primaryClient.ProvisionAsync(provisioning.Address, body, Cancel);

        var received = JsonSerializer.Deserialize<ProvisioningMessage>(await provisioning.ReceiveBodyAsync(Cancel) ?? throw new InvalidOperationException("no provisioning body"))!;
        var password = DeviceKeys.NewPassword();
        using var anonymous = new ClusterClient(Gateway);
        var linked = await anonymous.LinkDeviceAsync(companionKeys.CreateLinkRequest(received.Grant, received.Token, password, "tablet"), Cancel);
        Assert.Equal(2, linked.DeviceId);

        await primaryClient.PublishDeviceListAsync(primary.Keys.SignDeviceList(primary.AccountId, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), [1]), Cancel);

        var stranger = await SdkDevice.RegisterAsync(Gateway);
        using var strangerClient = stranger.Client(Gateway);
        var devices = await strangerClient.GetAccountDevicesAsync(primary.AccountId, Cancel);
        var companion = Assert.Single(devices.Devices, d => d.DeviceId == 2);
        Assert.Equal(companionKeys.IdentityKey, companion.IdentityKey);
        Assert.True(XEdDsa.Verify(devices.PrimaryIdentityKey, AdvSignatures.AccountMessage(companion.LinkingMetadata, companion.IdentityKey), companion.AccountSignature));
        Assert.True(XEdDsa.Verify(companion.IdentityKey, AdvSignatures.DeviceMessage(companion.LinkingMetadata, companion.IdentityKey, devices.PrimaryIdentityKey), companion.DeviceSignature));
        Assert.NotNull(devices.DeviceList);
        Assert.True(XEdDsa.Verify(devices.PrimaryIdentityKey, AdvSignatures.DeviceListMessage(devices.DeviceList.List), devices.DeviceList.Signature));

        using var companionClient = new ClusterClient(Gateway, new DeviceCredentials(primary.AccountId, 2, password));
        Assert.Equal([1, 2], (await companionClient.GetOwnDevicesAsync(Cancel)).Select(d => d.DeviceId));
    }

    [Fact]
    public async Task SendMessage_ToEveryDeviceWithSyncCopies_EachDeviceGetsItsOwnCopyAndAcksEmptyTheQueues()
    {
        var alice = await SdkDevice.AccountAsync(Gateway, companions: 2);
        var bob = await SdkDevice.AccountAsync(Gateway, companions: 2);
        using var sender = alice[0].Client(Gateway);

        var toBob = await sender.SendMessageAsync(
            bob[0].AccountId,
            new OutgoingMessage { Messages = [.. bob.Select(d => d.CopyFor("hello"))], Timestamp = 1_700_000_000_000, ClientMessageId = "m1" },
            Cancel);
        var sync = await sender.SendMessageAsync(
            alice[0].AccountId,
            new OutgoingMessage { Messages = [.. alice.Skip(1).Select(d => d.CopyFor("hello"))], Timestamp = 1_700_000_000_000, ClientMessageId = "m1" },
            Cancel);
        Assert.True(toBob.NeedsSync);
        Assert.False(sync.NeedsSync);

        foreach (var device in bob.Concat(alice.Skip(1)))
        {
            await using var connection = await DeviceConnection.ConnectAsync([Gateway], device.Credentials, cancellationToken: Cancel);
            Assert.IsType<Connected>(await connection.NextAsync("connected"));
            var envelope = Assert.Single(await connection.BacklogAsync());
            Assert.Equal($"hello for {device.Credentials.Login}", Encoding.UTF8.GetString(envelope.Content));
            Assert.Equal((alice[0].AccountId, 1, device.DeviceId), (envelope.SourceAccount, envelope.SourceDevice, envelope.DestinationDevice));
            await connection.AckAsync(envelope.Id, Cancel);
        }

        foreach (var device in bob.Concat(alice.Skip(1)))
        {
            using var client = device.Client(Gateway);
            Assert.Empty((await client.GetMessagesAsync(Cancel)).Envelopes);
        }
    }

    [Fact]
    public async Task SendMessage_WrongDeviceSet_ThrowsMismatchedDevicesWithBothLists()
    {
        var alice = await SdkDevice.RegisterAsync(Gateway);
        var bob = await SdkDevice.AccountAsync(Gateway, companions: 1);
        using var sender = alice.Client(Gateway);
        var message = new OutgoingMessage
        {
            Messages = [bob[0].CopyFor("x"), new DeviceCopy(7, 1, 1, [1])],
            Timestamp = 1,
        };

        var refused = await Assert.ThrowsAsync<MismatchedDevicesException>(() => sender.SendMessageAsync(bob[0].AccountId, message, Cancel));

        Assert.Equal([2], refused.MissingDevices);
        Assert.Equal([7], refused.ExtraDevices);
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
    }

    [Fact]
    public async Task SendMessage_OldRegistrationId_ThrowsStaleDevices()
    {
        var alice = await SdkDevice.RegisterAsync(Gateway);
        var bob = await SdkDevice.RegisterAsync(Gateway);
        using var sender = alice.Client(Gateway);
        var stale = bob.CopyFor("x") with { RegistrationId = bob.Keys.RegistrationId % 16380 + 1 };

        var refused = await Assert.ThrowsAsync<StaleDevicesException>(
            () => sender.SendMessageAsync(bob.AccountId, new OutgoingMessage { Messages = [stale], Timestamp = 1 }, Cancel));

        Assert.Equal([1], refused.StaleDevices);
    }

    [Fact]
    public async Task Refusals_CarryStatusErrorCodeAndField()
    {
        var alice = await SdkDevice.RegisterAsync(Gateway);
        using var anonymous = new ClusterClient(Gateway);
        await anonymous.RequestVerificationCodeAsync(alice.AccountId, Cancel);
        var secondRegistration = DeviceKeys.Generate().CreateRegistration(alice.AccountId, DeviceKeys.NewPassword()) with { VerificationCode = TestAccounts.SentCode(alice.AccountId) };
        var again = await Assert.ThrowsAsync<ClusterApiException>(() => anonymous.RegisterAsync(secondRegistration, Cancel));
        Assert.Equal((HttpStatusCode.Conflict, "account_exists"), (again.Status, again.Error));

        using var client = alice.Client(Gateway);
        var forged = alice.Keys.NewSignedPreKey(2) with { Signature = DeviceKeys.Generate().NewSignedPreKey(2).Signature };
        var badSignature = await Assert.ThrowsAsync<ClusterApiException>(() => client.UploadKeysAsync(new PreKeyUpload { SignedPreKey = forged }, Cancel));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "bad_signature", "signedPreKey.signature"), (badSignature.Status, badSignature.Error, badSignature.Field));

        using var wrongPassword = new ClusterClient(Gateway, alice.Credentials with { Password = DeviceKeys.NewPassword() });
        var unauthorized = await Assert.ThrowsAsync<ClusterApiException>(() => wrongPassword.GetKeyCountsAsync(Cancel));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.Status);
        Assert.False(unauthorized.IsTransient);
    }

    [Fact]
    public async Task Keys_UploadCountAndFetch_OneTimeKeyHandedOutOnce()
    {
        var bob = await SdkDevice.RegisterAsync(Gateway, oneTimePreKeys: 1);
        var alice = await SdkDevice.RegisterAsync(Gateway);
        using var bobClient = bob.Client(Gateway);
        using var aliceClient = alice.Client(Gateway);
        await bobClient.UploadKeysAsync(new PreKeyUpload { KemOneTimeKeys = bob.Keys.NewKemOneTimeKeys(500, 2) }, Cancel);
        Assert.Equal(new KeyCounts(1, 2), await bobClient.GetKeyCountsAsync(Cancel));

        var first = Assert.Single((await aliceClient.GetPreKeysAsync(bob.AccountId, 1, Cancel)).Devices);
        var second = Assert.Single((await aliceClient.GetPreKeysAsync(bob.AccountId, cancellationToken: Cancel)).Devices);

        Assert.Equal(100, first.OneTimePreKey?.KeyId);
        Assert.Null(second.OneTimePreKey);
        Assert.Equal(bob.Keys.IdentityKey, first.IdentityKey);
        Assert.True(XEdDsa.Verify(bob.Keys.IdentityKey, first.KemPreKey.PublicKey, first.KemPreKey.Signature));
        Assert.Equal(KeyFormat.KemPublicKeyLength, first.KemPreKey.PublicKey.Length);
        Assert.Equal(new KeyCounts(0, 0), await bobClient.GetKeyCountsAsync(Cancel));
    }

    [Fact]
    public async Task Blobs_UploadThenDownload_SameBytes()
    {
        var alice = await SdkDevice.RegisterAsync(Gateway);
        using var client = alice.Client(Gateway);
        var bytes = new byte[70_000];
        Random.Shared.NextBytes(bytes);

        var blob = await client.UploadBlobAsync(new MemoryStream(bytes), Cancel);

        Assert.Equal(bytes, await client.DownloadBlobAsync(blob.BlobId, Cancel));
    }

    private sealed record ProvisioningMessage(string Token, LinkGrant Grant);
}
