using System.Net;
using Cluster.Client.Messaging;
using Cluster.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans;

namespace Cluster.Client.Tests;

/// <summary>
/// <see cref="ClusterClient.SendMessageAsync"/> with a connected <see cref="ClusterClient.Connection"/>: the send goes over
/// the socket (no HTTP request), answers and refuses as over HTTP, is forced to HTTP by <see cref="ClusterClient.SendOver"/>,
/// and a send cut off by a closed socket is retried and stored once.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class SocketSendClientTests(SiloFixture fixture)
{
    private static readonly DeviceConnectionOptions FastRetry = new() { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) };

    private Uri Gateway => fixture.Silo.BaseAddress;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(SendTransport.Socket, 0)]
    [InlineData(SendTransport.Http, 1)]
    public async Task SendMessageAsync_SocketConnected_GoesOverTheTransportAskedFor(SendTransport transport, int httpSends)
    {
        var (sender, receiver) = (await SdkDevice.RegisterAsync(Gateway), await SdkDevice.RegisterAsync(Gateway));
        await using var connection = await DeviceConnection.ConnectAsync([Gateway], sender.Credentials, FastRetry, Cancel);
        using var counter = new SendCounter();
        using var http = new HttpClient(counter) { BaseAddress = Gateway };
        using var client = new ClusterClient(http, sender.Credentials) { Connection = connection, SendOver = transport };

        var result = await client.SendMessageAsync(receiver.AccountId, Message(receiver, "hello"), Cancel);

        Assert.False(result.NeedsSync);
        Assert.Equal(httpSends, counter.Sends);
        using var receiving = receiver.Client(Gateway);
        var page = await receiving.GetMessagesAsync(Cancel);
        Assert.Equal(receiver.CopyFor("hello").Content, Assert.Single(page.Envelopes).Content);
    }

    [Fact]
    public async Task SendMessageAsync_OverSocketToMismatchedDevices_ThrowsAsOverHttp()
    {
        var (sender, receivers) = (await SdkDevice.RegisterAsync(Gateway), await SdkDevice.AccountAsync(Gateway, companions: 1));
        await using var connection = await DeviceConnection.ConnectAsync([Gateway], sender.Credentials, FastRetry, Cancel);
        using var overSocket = new ClusterClient(Gateway, sender.Credentials) { Connection = connection };
        using var overHttp = new ClusterClient(Gateway, sender.Credentials) { SendOver = SendTransport.Http };
        var message = Message(receivers[0], "one device of two");

        var socketRefusal = await Assert.ThrowsAsync<MismatchedDevicesException>(() => overSocket.SendMessageAsync(receivers[0].AccountId, message, Cancel));
        var httpRefusal = await Assert.ThrowsAsync<MismatchedDevicesException>(() => overHttp.SendMessageAsync(receivers[0].AccountId, message, Cancel));

        Assert.Equal(httpRefusal.MissingDevices, socketRefusal.MissingDevices);
        Assert.Equal([receivers[1].DeviceId], socketRefusal.MissingDevices);
        Assert.Equal(httpRefusal.ServerMessage, socketRefusal.ServerMessage);
    }

    [Fact]
    public async Task SendMessageAsync_SocketCutBeforeTheAnswer_RetriedAndStoredOnce()
    {
        var gate = new EnqueueGate();
        await using var silo = await TestSilo.StartAsync(new TestSiloSettings { Services = services => services.AddSingleton<IIncomingGrainCallFilter>(gate) }, Cancel);
        var (sender, receiver) = (await SdkDevice.RegisterAsync(silo.BaseAddress), await SdkDevice.RegisterAsync(silo.BaseAddress));
        await using var proxy = new TcpProxy(silo.BaseAddress);
        await using var connection = await DeviceConnection.ConnectAsync([proxy.Address], sender.Credentials, FastRetry, Cancel);
        using var client = new ClusterClient(silo.BaseAddress, sender.Credentials) { Connection = connection };

        var sending = client.SendMessageAsync(receiver.AccountId, Message(receiver, "once") with { ClientMessageId = "cut-once" }, Cancel);
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(20), Cancel);
        proxy.Pause();
        gate.Release();

        Assert.False((await sending.WaitAsync(TimeSpan.FromSeconds(30), Cancel)).NeedsSync);
        using var receiving = receiver.Client(silo.BaseAddress);
        var page = await receiving.GetMessagesAsync(Cancel);
        Assert.Equal(receiver.CopyFor("once").Content, Assert.Single(page.Envelopes).Content);
    }

    private static OutgoingMessage Message(SdkDevice to, string text) => new() { Messages = [to.CopyFor(text)], Timestamp = 1_700_000_000_000 };

    /// <summary>Counts the sends (<c>PUT /v1/messages/...</c>) that went over HTTP.</summary>
    private sealed class SendCounter() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int sends;

        public int Sends => Volatile.Read(ref sends);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Put && request.RequestUri?.AbsolutePath.StartsWith("/v1/messages/", StringComparison.Ordinal) == true)
            {
                Interlocked.Increment(ref sends);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
