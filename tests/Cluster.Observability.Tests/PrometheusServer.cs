using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Cluster.Testing;

namespace Cluster.Observability.Tests;

/// <summary>
/// A real Prometheus server for one test run: its own config and TSDB in a temp directory, listening on a free
/// loopback port only, scraping the given targets every second as job <see cref="Job"/> and evaluating the shipped
/// alert rules every second. Never Debian's system service.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    /// <summary>The job name the shipped rules and dashboard select on.</summary>
    public const string Job = "cluster-silo";

    private readonly Process process;
    private readonly string directory;
    private readonly ConcurrentQueue<string> log;

    private PrometheusServer(Process process, string directory, ConcurrentQueue<string> log, int port)
    {
        this.process = process;
        this.directory = directory;
        this.log = log;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public HttpClient Http { get; }

    /// <summary>The last lines Prometheus logged, for failure messages.</summary>
    public string RecentLog => string.Join('\n', log.TakeLast(30));

    public static async Task<PrometheusServer> StartAsync(string binary, IEnumerable<string> targets, CancellationToken cancellationToken)
    {
        var targetList = string.Join(", ", targets.Select(t => $"'{t}'"));
        for (var attempt = 1; ; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("cluster-prometheus-").FullName;
            var config = Path.Combine(directory, "prometheus.yml");
            await File.WriteAllTextAsync(config, $"""
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                  - '{Repository.AlertRules}'
                scrape_configs:
                  - job_name: {Job}
                    static_configs:
                      - targets: [{targetList}]
                """, cancellationToken);

            var port = FreePorts.Next();
            var start = new ProcessStartInfo(binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            start.ArgumentList.Add($"--config.file={config}");
            start.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
            start.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(directory, "data")}");

            var log = new ConcurrentQueue<string>();
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            DataReceivedEventHandler onLine = (sender, e) =>
            {
                if (e.Data is not { } line)
                {
                    return;
                }

                log.Enqueue(line);
                while (log.Count > 200)
                {
                    log.TryDequeue(out _);
                }

                if (line.Contains("Server is ready to receive web requests", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            process.OutputDataReceived += onLine;
            process.ErrorDataReceived += onLine;
            process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("prometheus exited"));
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var server = new PrometheusServer(process, directory, log, port);
            try
            {
                // Prometheus says when it serves in its log: await that line rather than polling its port.
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
                return server;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                var recent = server.RecentLog;
                await server.DisposeAsync();
                if (attempt < 3 && recent.Contains("address already in use", StringComparison.Ordinal))
                {
                    continue;
                }

                throw new InvalidOperationException($"prometheus did not become ready ({ex.Message}); its log:\n{recent}", ex);
            }
        }
    }

    /// <summary>The value of a PromQL expression that yields at most one sample; null when it yields none.</summary>
    public async Task<double?> QueryScalarAsync(string promQl, CancellationToken cancellationToken)
    {
        var result = await QueryAsync(promQl, cancellationToken);
        return result.Count switch
        {
            0 => null,
            1 => ValueOf(result[0]!),
            _ => throw new InvalidOperationException($"'{promQl}' yields {result.Count} series, expected at most one"),
        };
    }

    /// <summary>The result vector of an instant query.</summary>
    public async Task<JsonArray> QueryAsync(string promQl, CancellationToken cancellationToken)
    {
        var body = await GetApiAsync($"/api/v1/query?query={Uri.EscapeDataString(promQl)}", cancellationToken);
        return body["data"]!["result"]!.AsArray();
    }

    /// <summary>The <c>data</c> of a Prometheus HTTP API answer, which must have <c>status: success</c>.</summary>
    public async Task<JsonNode> GetApiAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(pathAndQuery, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode && JsonNode.Parse(text) is JsonObject body && (string?)body["status"] == "success"
            ? body
            : throw new InvalidOperationException($"{Uri.UnescapeDataString(pathAndQuery)} answered {(int)response.StatusCode} {text}");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // It never started.
        }

        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // The TSDB may still be closing: the OS cleans temp directories.
        }
    }

    private static double ValueOf(JsonNode sample) =>
        double.Parse((string)sample["value"]![1]!, NumberStyles.Float, CultureInfo.InvariantCulture);
}
