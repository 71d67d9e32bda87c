using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Cluster.LoadTest.Progress;

/// <summary>Shows a run's progress until it ends: a live table in a terminal, periodic plain lines otherwise.</summary>
internal abstract class ProgressView
{
    public static ProgressView Create(bool live, TextWriter plainOutput) =>
        live && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
            ? new LiveProgressView()
            : new PlainProgressView(plainOutput);

    /// <summary>Renders <paramref name="status"/> until <paramref name="stop"/> fires.</summary>
    public abstract Task RunAsync(RunStatus status, CancellationToken stop);

    protected static IReadOnlyList<(string Name, string Value)> Snapshot(RunStatus status, ref Sample last)
    {
        var now = Stopwatch.GetTimestamp();
        var seconds = Math.Max(1e-3, Stopwatch.GetElapsedTime(last.At, now).TotalSeconds);
        var extra = status.Extra?.Invoke() ?? [];
        var delivered = extra.FirstOrDefault(x => x.Name == "delivered").Value;
        var rows = new List<(string, string)>
        {
            ("phase", status.Phase),
            ("elapsed", Stopwatch.GetElapsedTime(status.StartedAt).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)),
        };
        if (status.Scheduled == 0)
        {
            rows.Add(("accounts set up", F($"{status.Registered} / {status.SetupTarget}")));
            rows.Add(("companions linked", F($"{status.Linked}")));
        }
        else
        {
            rows.Add(("operations/s", F($"{(status.Scheduled - last.Scheduled) / seconds:0.0}")));
            rows.Add(("delivered/s", F($"{(delivered - last.Delivered) / seconds:0.0}")));
            rows.Add(("operations", F($"{status.Scheduled} started, {status.Completed} ok, {status.Failed} failed, {status.InFlight} in flight")));
        }

        rows.Add(("sockets open", F($"{status.Connected}")));
        foreach (var (name, value) in extra)
        {
            rows.Add((name, F($"{value}")));
        }

        rows.Add(("errors", F($"{status.ErrorCount}")));
        rows.Add(("reconnects", F($"{status.Reconnects}")));
        last = new Sample(now, status.Scheduled, delivered);
        return rows;
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    protected record struct Sample(long At, long Scheduled, long Delivered);

    private sealed class LiveProgressView : ProgressView
    {
        public override async Task RunAsync(RunStatus status, CancellationToken stop)
        {
            var table = new Table().Border(TableBorder.Rounded).Title("Cluster.LoadTest").HideHeaders().AddColumn("").AddColumn("");
            var last = new Sample(Stopwatch.GetTimestamp(), 0, 0);
            await AnsiConsole.Live(table).AutoClear(false).StartAsync(async context =>
            {
                while (true)
                {
                    table.Rows.Clear();
                    foreach (var (name, value) in Snapshot(status, ref last))
                    {
                        table.AddRow(Markup.Escape(name), Markup.Escape(value));
                    }

                    context.Refresh();
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), stop);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            });
        }
    }

    private sealed class PlainProgressView(TextWriter output) : ProgressView
    {
        public override async Task RunAsync(RunStatus status, CancellationToken stop)
        {
            var last = new Sample(Stopwatch.GetTimestamp(), 0, 0);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
            try
            {
                while (await timer.WaitForNextTickAsync(stop))
                {
                    await output.WriteLineAsync(string.Join("  ", Snapshot(status, ref last).Select(row => $"{row.Name}: {row.Value}")));
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
