using System.Globalization;

namespace Cluster.LoadTest.ConnectStorm;

/// <summary>The few series of a silo's <c>GET /metrics</c> (Prometheus text) that say what connected devices cost it.</summary>
internal sealed record ServerSample(string Target, double WorkingSetBytes, double GcHeapBytes, double SocketsOpen, double Activations)
{
    public static async Task<ServerSample?> ScrapeAsync(HttpClient http, Uri target, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await http.GetStringAsync(new Uri(target, "/metrics"), cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        double workingSet = 0, heap = 0, sockets = 0, activations = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            var valueStart = line.LastIndexOf(' ');
            if (nameEnd <= 0 || valueStart <= nameEnd
                || !double.TryParse(line.AsSpan(valueStart + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            switch (line[..nameEnd])
            {
                case "dotnet_process_memory_working_set_bytes": workingSet += value; break;
                case "dotnet_gc_last_collection_heap_size_bytes": heap += value; break;
                case "cluster_sockets_open": sockets += value; break;
                case "orleans_catalog_activations": activations += value; break;
            }
        }

        return new ServerSample(target.ToString(), workingSet, heap, sockets, activations);
    }
}
