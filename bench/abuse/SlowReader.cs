#:project ../../tests/Cluster.Testing/Cluster.Testing.csproj
#:property PublishAot=false

// A device that stops reading while another sends it online messages of 60 KiB; prints the silo's RSS before,
// during (the highest seen) and after. Run by bench/abuse/slow-reader.sh, which starts the silo.
// Arguments: <silo base URL> <silo pid> [messages, default 3000] [parallel sends, default 8] [mode: slow (default) or
// offline: the same sends to a device with no socket at all, the control that shows what the sends alone cost]
using System.Globalization;
using System.Net.Http.Json;
using Cluster.Testing;

var baseAddress = new Uri(args[0]);
var pid = int.Parse(args[1], CultureInfo.InvariantCulture);
var count = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3000;
var parallel = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 8;
var offline = args.Length > 4 && args[4] == "offline";

using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
var alice = await RegisterAsync();
var bob = await RegisterAsync();
var before = Rss();
using var sender = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
sender.DefaultRequestHeaders.Authorization = TestDevice.BasicAuth(alice.Login, alice.Password);

var slow = offline ? null : await RawWebSocket.ConnectAsync(baseAddress, bob, receiveBufferBytes: 4096);
if (slow is not null)
{
    await slow.ReadUntilQueueEmptyAsync();
}

var body = Messages.Body([bob], new string('x', 60 * 1024), online: true);
long peak = before, answered = 0, refused = 0;
using var sampling = new CancellationTokenSource();
var sampler = Task.Run(async () =>
{
    while (!sampling.IsCancellationRequested)
    {
        peak = Math.Max(peak, Rss());
        await Task.Delay(200);
    }
});
var next = -1;
await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
{
    while (Interlocked.Increment(ref next) < count)
    {
        using var response = await Messages.SendAsync(sender, bob.AccountId, body);
        Interlocked.Increment(ref response.IsSuccessStatusCode ? ref answered : ref refused);
    }
}));
var afterSends = Rss();

// Still not reading: the silo must close the socket by itself (4408 after Sockets:SlowCloseAfter, then the connection
// dropped after Sockets:CloseTimeout, 15 s with the defaults). Only then is what is left read.
await Task.Delay(TimeSpan.FromSeconds(20));
string outcome;
try
{
    outcome = slow is null
        ? "offline control: the device had no socket"
        : $"the silo dropped the slow socket ({(await slow.DroppedAsync("as too slow", TimeSpan.FromSeconds(5))).Count} frames were left to read)";
}
catch (TimeoutException)
{
    outcome = "THE SILO KEPT THE SLOW SOCKET OPEN";
}

slow?.Dispose();

// The silo's server GC returns memory lazily: sample for a while after the slow reader is gone.
await Task.Delay(TimeSpan.FromSeconds(15));
await sampling.CancelAsync();
await sampler;
var after = Rss();
Console.WriteLine($"sends: {answered} answered 2xx, {refused} refused; {outcome}");
Console.WriteLine("| RSS before | peak during | right after the sends | 15 s after the slow reader left |");
Console.WriteLine("|---|---|---|---|");
Console.WriteLine($"| {Mb(before)} | {Mb(peak)} (+{Mb(peak - before)}) | {Mb(afterSends)} | {Mb(after)} (+{Mb(after - before)}) |");

async Task<TestDevice> RegisterAsync()
{
    var (device, registration) = TestAccounts.NewRegistration();
    using var response = await http.PostAsJsonAsync("/v1/accounts", registration);
    response.EnsureSuccessStatusCode();
    return device;
}

long Rss()
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
    {
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }

    return 0;
}

static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0} MB");
