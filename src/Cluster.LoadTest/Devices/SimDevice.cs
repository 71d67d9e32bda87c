using Cluster.Client;
using Cluster.Client.Keys;
using Cluster.Client.Messaging;
using Cluster.LoadTest.Accounting;
using Cluster.LoadTest.Progress;

namespace Cluster.LoadTest.Devices;

/// <summary>What a device's socket hands to the scenario. Called from the device's own receive loop; must not throw.</summary>
internal interface IDeviceListener
{
    void OnEnvelope(SimDevice device, Envelope envelope, long timestamp);

    void OnEvent(SimDevice device, DeviceEvent deviceEvent, long timestamp);
}

/// <summary>
/// A simulated device: its keys, its credentials, and once connected its <see cref="DeviceConnection"/> with a receive
/// loop that reports every envelope and event and acks what it received.
/// </summary>
internal sealed class SimDevice(SimAccount account, int slot, DeviceKeys keys, DeviceCredentials credentials, uint keyIndex, bool churned = false)
    : IAsyncDisposable
{
    private Task? receiving;

    public SimAccount Account { get; } = account;

    /// <summary>The device's place among all devices of the run: it starts at target <c>Slot mod n</c>.</summary>
    public int Slot { get; } = slot;

    public DeviceKeys Keys { get; } = keys;

    public DeviceCredentials Credentials { get; } = credentials;

    public uint KeyIndex { get; } = keyIndex;

    public bool IsChurned { get; } = churned;

    public int DeviceId => Credentials.DeviceId;

    public DeviceKey Key => new(Account.Index, DeviceId, Keys.RegistrationId);

    public DeviceConnection? Connection { get; private set; }

    /// <summary>A client as this device on its own target, or on the next ones for a retry; its sends use the device's socket when the run says so.</summary>
    public ClusterClient Client(Gateways gateways, int attempt = 0) => gateways.Client(Slot + attempt, Credentials, Connection);

    /// <summary>Opens the device's socket (through its targets in turn) and starts receiving.</summary>
    public async Task ConnectAsync(Gateways gateways, IDeviceListener listener, RunStatus status, CancellationToken cancellationToken)
    {
        var connection = new DeviceConnection(gateways.Rotated(Slot), Credentials, new DeviceConnectionOptions { Invoker = gateways.SocketInvoker });
        Connection = connection;
        receiving = Task.Run(() => ReceiveAsync(connection, listener, status), CancellationToken.None);
        await connection.StartAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Connection is { } connection)
        {
            await connection.DisposeAsync();
        }


        if (receiving is not null)
        {
            await receiving;
        }
    }

    public override string ToString() => Credentials.Login;

    private async Task ReceiveAsync(DeviceConnection connection, IDeviceListener listener, RunStatus status)
    {
        var reader = connection.Updates;
        var acks = new List<Guid>();
        var open = false;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var update))
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                switch (update)
                {
                    case EnvelopeReceived received:
                        listener.OnEnvelope(this, received.Envelope, now);
                        acks.Add(received.Envelope.Id);
                        break;
                    case EventReceived received:
                        status.Event(received.Event.Type);
                        listener.OnEvent(this, received.Event, now);
                        break;
                    case Connected connected:
                        open = true;
                        status.AddConnected(1);
                        if (connected.Connection > 1)
                        {
                            status.AddReconnect();
                        }

                        break;
                    case Disconnected disconnected:
                        open = false;
                        status.AddConnected(-1);
                        if (disconnected.CloseStatus != 4401)
                        {
                            status.AddDisconnect(disconnected.CloseStatus);
                        }

                        break;
                }
            }

            if (acks.Count > 0)
            {
                try
                {
                    await connection.AckAsync(acks);
                    status.AddAcked(acks.Count);
                }
                catch (ObjectDisposedException)
                {
                    // Disposed at the end of the run: the remaining acks are moot.
                }

                acks.Clear();
            }
        }

        if (open)
        {
            status.AddConnected(-1);
        }
    }
}
