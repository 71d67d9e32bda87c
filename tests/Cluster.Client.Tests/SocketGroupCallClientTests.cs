using System.Net;
using Cluster.Client.Calls;
using Cluster.Client.Groups;
using Cluster.Client.Messaging;
using Cluster.Testing;

namespace Cluster.Client.Tests;

/// <summary>
/// <see cref="ClusterClient.SendGroupMessageAsync"/> and the call actions with a connected <see cref="ClusterClient.Connection"/>:
/// over the socket (no HTTP request) unless <see cref="ClusterClient.SendOver"/> says HTTP, with the same exceptions either way.
/// </summary>
[Collection(SharedSilo.Name)]
public sealed class SocketGroupCallClientTests(SiloFixture fixture)
{
    private Uri Gateway => fixture.Silo.BaseAddress;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(SendTransport.Socket, 0)]
    [InlineData(SendTransport.Http, 4)]
    public async Task GroupSendAndCalls_SocketConnected_GoOverTheTransportAskedFor(SendTransport transport, int httpRequests)
    {
        var (sender, member) = (await SdkDevice.RegisterAsync(Gateway), await SdkDevice.RegisterAsync(Gateway));
        await using var connection = await DeviceConnection.ConnectAsync([Gateway], sender.Credentials, null, Cancel);
        using var counter = new RequestCounter();
        using var http = new HttpClient(counter) { BaseAddress = Gateway };
        using var client = new ClusterClient(http, sender.Credentials) { Connection = connection, SendOver = transport };
        using var memberClient = member.Client(Gateway);
        var group = await client.CreateGroupAsync([member.AccountId], cancellationToken: Cancel);

        await client.SendGroupMessageAsync(group.GroupId, Message(sender, member, "to the group"), Cancel);
        var callId = await client.StartCallAsync(member.AccountId, [new CallOffer(member.DeviceId, member.Keys.RegistrationId, [1, 2, 3])], Cancel);
        await memberClient.AnswerCallAsync(callId, [4, 5, 6], Cancel);
        await client.SendIceAsync(callId, [7, 8, 9], Cancel);
        await client.HangUpAsync(callId, Cancel);

        Assert.Equal(httpRequests, counter.Requests);
        var page = await memberClient.GetMessagesAsync(Cancel);
        Assert.Equal("to the group"u8.ToArray(), Assert.Single(page.Envelopes).Content);
    }

    [Fact]
    public async Task GroupSendAndCalls_RefusedOverSocket_ThrowAsOverHttp()
    {
        var sender = await SdkDevice.RegisterAsync(Gateway);
        var members = await SdkDevice.AccountAsync(Gateway, companions: 1);
        await using var connection = await DeviceConnection.ConnectAsync([Gateway], sender.Credentials, null, Cancel);
        using var overSocket = new ClusterClient(Gateway, sender.Credentials) { Connection = connection, SendRetries = SendRetryPolicy.None };
        using var overHttp = new ClusterClient(Gateway, sender.Credentials) { SendOver = SendTransport.Http, SendRetries = SendRetryPolicy.None };
        var group = await overHttp.CreateGroupAsync([members[0].AccountId], cancellationToken: Cancel);
        var oneOfTwo = Message(sender, members[0], "one device of two");
        var unknownCall = Guid.NewGuid().ToString("N");

        var socketView = await Assert.ThrowsAsync<GroupViewMismatchException>(() => overSocket.SendGroupMessageAsync(group.GroupId, oneOfTwo, Cancel));
        var httpView = await Assert.ThrowsAsync<GroupViewMismatchException>(() => overHttp.SendGroupMessageAsync(group.GroupId, oneOfTwo, Cancel));
        var socketCall = await Assert.ThrowsAsync<MismatchedDevicesException>(() => overSocket.StartCallAsync(members[0].AccountId, [Offer(members[0])], Cancel));
        var httpCall = await Assert.ThrowsAsync<MismatchedDevicesException>(() => overHttp.StartCallAsync(members[0].AccountId, [Offer(members[0])], Cancel));
        var socketHangup = await Assert.ThrowsAsync<ClusterApiException>(() => overSocket.HangUpAsync(unknownCall, Cancel));
        var httpHangup = await Assert.ThrowsAsync<ClusterApiException>(() => overHttp.HangUpAsync(unknownCall, Cancel));

        Assert.Equal((httpView.Status, httpView.Error, httpView.ServerMessage), (socketView.Status, socketView.Error, socketView.ServerMessage));
        Assert.Equal([members[1].DeviceId], Assert.Single(socketView.Accounts).MissingDevices);
        Assert.Equal(httpCall.MissingDevices, socketCall.MissingDevices);
        Assert.Equal([members[1].DeviceId], socketCall.MissingDevices);
        Assert.Equal((HttpStatusCode.NotFound, httpHangup.Error, httpHangup.ServerMessage), (socketHangup.Status, socketHangup.Error, socketHangup.ServerMessage));
    }

    /// <summary>A group message whose view is the sender's account (no other device) and one device of the member's.</summary>
    private static GroupMessage Message(SdkDevice sender, SdkDevice member, string text) => new()
    {
        Recipients = [new GroupRecipient(sender.AccountId, []), new GroupRecipient(member.AccountId, [new GroupRecipientDevice(member.DeviceId, member.Keys.RegistrationId)])],
        Content = System.Text.Encoding.UTF8.GetBytes(text),
        Timestamp = 1_700_000_000_000,
    };

    private static CallOffer Offer(SdkDevice callee) => new(callee.DeviceId, callee.Keys.RegistrationId, [1, 2, 3]);

    /// <summary>Counts the HTTP requests of a group send and of the call routes.</summary>
    private sealed class RequestCounter() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int requests;

        public int Requests => Volatile.Read(ref requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri?.AbsolutePath ?? "";
            if (path.StartsWith("/v1/calls", StringComparison.Ordinal) || (path.StartsWith("/v1/groups/", StringComparison.Ordinal) && path.EndsWith("/messages", StringComparison.Ordinal)))
            {
                Interlocked.Increment(ref requests);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
