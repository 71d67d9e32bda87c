using System.Net;
using Cluster.Client.Calls;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;
using Cluster.Testing;

namespace Cluster.Client.Tests;

[Collection(SharedSilo.Name)]
public sealed class DeviceConnectionTests(SiloFixture fixture)
{
    private static readonly DeviceConnectionOptions FastRetry = new() { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) };

    private Uri Gateway => fixture.Silo.BaseAddress;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reconnect_AfterNetworkCut_UnackedEnvelopeComesAgainButIsReportedOnce()
    {
        var (sender, receiver) = (await SdkDevice.RegisterAsync(Gateway), await SdkDevice.RegisterAsync(Gateway));
        await using var proxy = new TcpProxy(Gateway);
        await using var connection = await DeviceConnection.ConnectAsync([proxy.Address], receiver.Credentials, FastRetry, Cancel);
        Assert.IsType<Connected>(await connection.NextAsync("connected"));
        Assert.Empty(await connection.BacklogAsync());

        await SendAsync(sender, receiver, "one");
        var first = await connection.NextAsync<EnvelopeReceived>("the envelope");
        proxy.Cut();

        Assert.IsType<Disconnected>(await connection.NextAsync("disconnected"));
        Assert.Equal(2, (await connection.NextAsync<Connected>("reconnected")).Connection);
        Assert.Empty(await connection.BacklogAsync());
        Assert.Equal(1, connection.DuplicatesDropped);

        await connection.AckAsync(first.Envelope.Id, Cancel);
        await SendAsync(sender, receiver, "two");
        var second = await connection.NextAsync<EnvelopeReceived>("the second envelope");
        Assert.NotEqual(first.Envelope.Id, second.Envelope.Id);
    }

    [Fact]
    public async Task Ack_WhileDisconnected_IsSentOnReconnectAndTheEnvelopeIsNotReportedAgain()
    {
        var (sender, receiver) = (await SdkDevice.RegisterAsync(Gateway), await SdkDevice.RegisterAsync(Gateway));
        await SendAsync(sender, receiver, "one");
        await using var proxy = new TcpProxy(Gateway);
        var connection = await DeviceConnection.ConnectAsync([proxy.Address], receiver.Credentials, FastRetry, Cancel);
        await connection.NextAsync<Connected>("connected");
        var envelope = Assert.Single(await connection.BacklogAsync());

        proxy.Pause();
        await connection.NextAsync<Disconnected>("disconnected");
        await connection.AckAsync(envelope.Id, Cancel);
        proxy.Resume();

        await connection.NextAsync<Connected>("reconnected");
        Assert.Empty(await connection.BacklogAsync());
        await connection.DisposeAsync();

        using var client = receiver.Client(Gateway);
        Assert.Empty((await client.GetMessagesAsync(Cancel)).Envelopes);
    }

    [Fact]
    public async Task Connect_FirstGatewayDown_ConnectsThroughTheNext()
    {
        var device = await SdkDevice.RegisterAsync(Gateway);
        var dead = new Uri($"http://127.0.0.1:{FreePorts.Next()}");

        await using var connection = await DeviceConnection.ConnectAsync([dead, Gateway], device.Credentials, FastRetry, Cancel);

        Assert.Equal(Gateway, (await connection.NextAsync<Connected>("connected")).Gateway);
    }

    [Fact]
    public async Task Connect_WrongPassword_ThrowsUnauthorized()
    {
        var device = await SdkDevice.RegisterAsync(Gateway);

        var refused = await Assert.ThrowsAsync<ClusterApiException>(
            () => DeviceConnection.ConnectAsync([Gateway], device.Credentials with { Password = DeviceKeys.NewPassword() }, FastRetry, Cancel));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
    }

    [Fact]
    public async Task SecondConnection_SameDevice_FirstStopsAsConnectedElsewhere()
    {
        var device = await SdkDevice.RegisterAsync(Gateway);
        await using var first = await DeviceConnection.ConnectAsync([Gateway], device.Credentials, FastRetry, Cancel);
        await first.NextAsync<Connected>("connected");

        await using var second = await DeviceConnection.ConnectAsync([Gateway], device.Credentials, FastRetry, Cancel);

        Assert.Equal(DeviceConnectionStopReason.ConnectedElsewhere, await first.StoppedAsync("connected elsewhere (4409)"));
        Assert.True(second.IsConnected);
    }

    [Fact]
    public async Task Unlink_ConnectedCompanion_StopsAsDeviceRemovedAndOtherDevicesHearOfIt()
    {
        var devices = await SdkDevice.AccountAsync(Gateway, companions: 2);
        await using var primary = await DeviceConnection.ConnectAsync([Gateway], devices[0].Credentials, FastRetry, Cancel);
        await primary.NextAsync<Connected>("connected");
        Assert.Empty(await primary.BacklogAsync());
        await using var companion = await DeviceConnection.ConnectAsync([Gateway], devices[2].Credentials, FastRetry, Cancel);

        using var companionClient = devices[2].Client(Gateway);
        await companionClient.RemoveDeviceAsync(devices[2].DeviceId, Cancel);

        Assert.Equal(DeviceConnectionStopReason.DeviceRemoved, await companion.StoppedAsync("device removed (4401)"));
        var changed = Assert.IsType<DeviceListChanged>((await primary.NextAsync<EventReceived>("deviceListChanged")).Event);
        Assert.Equal(devices[0].AccountId, changed.AccountId);
    }

    [Fact]
    public async Task Call_RingsEveryDevice_FirstAnswerWinsAndOthersStopRinging()
    {
        var caller = await SdkDevice.RegisterAsync(Gateway);
        var callee = await SdkDevice.AccountAsync(Gateway, companions: 2);
        await using var callerSocket = await ConnectedAsync(caller);
        var calleeSockets = new List<DeviceConnection>();
        foreach (var device in callee)
        {
            calleeSockets.Add(await ConnectedAsync(device));
        }

        using var callerClient = caller.Client(Gateway);
        var callId = await callerClient.StartCallAsync(
            callee[0].AccountId, [.. callee.Select(d => new CallOffer(d.DeviceId, d.Keys.RegistrationId, [(byte)d.DeviceId]))], Cancel);

        foreach (var (socket, device) in calleeSockets.Zip(callee))
        {
            var offer = Assert.IsType<CallOffered>((await socket.NextAsync<EventReceived>("callOffer")).Event);
            Assert.Equal((callId, caller.AccountId), (offer.CallId, offer.From));
            Assert.Equal([(byte)device.DeviceId], offer.Payload);
        }

        using var winner = callee[1].Client(Gateway);
        using var loser = callee[2].Client(Gateway);
        await winner.AnswerCallAsync(callId, [42], Cancel);
        var late = await Assert.ThrowsAsync<ClusterApiException>(() => loser.AnswerCallAsync(callId, [43], Cancel));
        Assert.Equal("call_not_ringing", late.Error);

        var answered = Assert.IsType<CallAnswered>((await callerSocket.NextAsync<EventReceived>("callAnswered")).Event);
        Assert.Equal((2, 42), (answered.ByDevice, (int)answered.Payload[0]));
        foreach (var socket in new[] { calleeSockets[0], calleeSockets[2] })
        {
            Assert.IsType<CallAnsweredElsewhere>((await socket.NextAsync<EventReceived>("callAnsweredElsewhere")).Event);
        }

        foreach (var socket in calleeSockets)
        {
            await socket.DisposeAsync();
        }
    }

    private async Task<DeviceConnection> ConnectedAsync(SdkDevice device)
    {
        var connection = await DeviceConnection.ConnectAsync([Gateway], device.Credentials, FastRetry, Cancel);
        await connection.NextAsync<Connected>("connected");
        Assert.Empty(await connection.BacklogAsync());
        return connection;
    }

    private async Task SendAsync(SdkDevice sender, SdkDevice receiver, string text)
    {
        using var client = sender.Client(Gateway);
        await client.SendMessageAsync(receiver.AccountId, new OutgoingMessage { Messages = [receiver.CopyFor(text)], Timestamp = 1 }, Cancel);
    }
}
