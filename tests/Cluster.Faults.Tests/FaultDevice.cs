using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Faults.Tests;

/// <summary>
/// A device as a real client runs it: one WebSocket at a time, every envelope acked as soon as it arrives, and when the
/// socket closes (1001 from a stopping silo, or a dropped connection from a killed one) a new socket to the next silo.
/// It records every envelope it receives, duplicates included.
/// </summary>
public sealed class FaultDevice : IAsyncDisposable
{
    private readonly ProcessCluster cluster;
    private readonly CancellationTokenSource stop = new();
    private readonly object gate = new();
    private readonly List<(string Id, string Content)> received = [];
    private readonly Dictionary<string, long> firstArrivals = [];
    private readonly Dictionary<string, int> closes = [];
    private readonly SemaphoreSlim arrived = new(0);
    private readonly TaskCompletionSource firstQueueEmpty = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? loop;
    private int silo;

    public FaultDevice(TestDevice device, ProcessCluster cluster, int firstSilo)
    {
        Device = device;
        this.cluster = cluster;
        silo = firstSilo;
    }

    public TestDevice Device { get; }

    /// <summary>The index (0-based) of the silo the current or last socket went to.</summary>
    public int CurrentSilo => Volatile.Read(ref silo);

    /// <summary>Sockets opened, the first one included.</summary>
    public int Connections { get; private set; }

    /// <summary>Completes when the first socket has delivered its backlog.</summary>
    public Task Connected => firstQueueEmpty.Task;

    /// <summary>How sockets ended, by close status (<c>drop</c>: no close frame, the connection was lost).</summary>
    public IReadOnlyDictionary<string, int> Closes
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, int>(closes);
            }
        }
    }

    /// <summary>When each content first arrived (<see cref="System.Diagnostics.Stopwatch"/> timestamps).</summary>
    public IReadOnlyDictionary<string, long> FirstArrivals
    {
        get
        {
            lock (gate)
            {
                return new Dictionary<string, long>(firstArrivals);
            }
        }
    }

    public IReadOnlyList<(string Id, string Content)> Received
    {
        get
        {
            lock (gate)
            {
                return [.. received];
            }
        }
    }

    public void Start() => loop = RunAsync(stop.Token);

    /// <summary>Opens a socket of <paramref name="device"/> through <paramref name="silo"/>, reads up to its first <c>queueEmpty</c>, and closes it.</summary>
    public static async Task VisitAsync(ProcessSilo silo, TestDevice device)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", TestDevice.BasicAuth(device.Login, device.Password).ToString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(new UriBuilder(silo.BaseAddress) { Scheme = "ws", Path = "/v1/websocket" }.Uri, timeout.Token);
        var buffer = new byte[1 << 20];
        while (true)
        {
            var length = 0;
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"the socket of {device.Login} through silo {silo.Index} closed ({result.CloseStatus}) before queueEmpty");
            }

            if ((string?)JsonNode.Parse(buffer.AsSpan(0, length))?["kind"] == "queueEmpty")
            {
                break;
            }
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
    }

    /// <summary>Waits until every one of <paramref name="contents"/> has arrived at least once.</summary>
    public async Task WaitForAsync(IReadOnlyCollection<string> contents, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            List<string> missing;
            lock (gate)
            {
                var have = received.Select(r => r.Content).ToHashSet();
                missing = contents.Where(c => !have.Contains(c)).ToList();
            }

            if (missing.Count == 0)
            {
                return;
            }

            try
            {
                await arrived.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"{Device.Login} (socket on silo {CurrentSilo + 1}) still misses {missing.Count} of {contents.Count} envelopes after {timeout.TotalSeconds:0}s, e.g. {string.Join(", ", missing.Take(5))}");
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var index = CurrentSilo;
            var target = cluster.Silos[index];
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", TestDevice.BasicAuth(Device.Login, Device.Password).ToString());
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                connectTimeout.CancelAfter(TimeSpan.FromSeconds(10));
                await socket.ConnectAsync(new UriBuilder(target.BaseAddress) { Scheme = "ws", Path = "/v1/websocket" }.Uri, connectTimeout.Token);
                Connections++;
                failures = 0;
                var status = await ReadAsync(socket, cancellationToken);
                Count(status);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or HttpRequestException)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                failures++;
            }

            // A client goes to another silo after a socket ends; after a round of refusals it backs off a little.
            Volatile.Write(ref silo, (index + 1) % cluster.Silos.Count);
            if (failures > 0 && failures % cluster.Silos.Count == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
            }
        }
    }

    private async Task<string> ReadAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        try
        {
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), cancellationToken);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return ((int?)result.CloseStatus)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "empty";
                }

                var frame = JsonNode.Parse(buffer.AsSpan(0, length))!.AsObject();
                switch ((string?)frame["kind"])
                {
                    case "envelope":
                        var envelope = frame["envelope"]!.AsObject();
                        var id = (string)envelope["id"]!;
                        lock (gate)
                        {
                            var content = Messages.ContentOf(envelope);
                            received.Add((id, content));
                            firstArrivals.TryAdd(content, System.Diagnostics.Stopwatch.GetTimestamp());
                        }

                        arrived.Release();
                        var ack = new JsonObject { ["kind"] = "ack", ["ids"] = new JsonArray(id) };
                        await socket.SendAsync(Encoding.UTF8.GetBytes(ack.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken);
                        break;
                    case "queueEmpty":
                        firstQueueEmpty.TrySetResult();
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            return cancellationToken.IsCancellationRequested ? "stopped" : "drop";
        }
    }

    private void Count(string status)
    {
        lock (gate)
        {
            closes[status] = closes.GetValueOrDefault(status) + 1;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            await loop;
        }

        stop.Dispose();
        arrived.Dispose();
    }
}
