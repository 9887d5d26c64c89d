// One NameNode and one DataNode in one JVM (Hadoop's MiniDFSCluster), for the local stack.
// Usage: StackHdfs BASE_DIR NAMENODE_RPC_PORT NAMENODE_HTTP_PORT [key=value ...]
// Formats BASE_DIR, starts both nodes, prints "StackHdfs ready" once the DataNode has
// registered, then serves until SIGTERM or SIGINT, on which it stops both nodes and exits 0.
// (Stopping them from a JVM shutdown hook instead trips over Hadoop's own hook manager.)
import java.io.File;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

public final class StackHdfs {
  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: StackHdfs BASE_DIR NN_RPC_PORT NN_HTTP_PORT [key=value ...]");
      System.exit(2);
    }
    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(args[0]).getAbsolutePath());
    for (int i = 3; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        System.err.println("StackHdfs: not key=value: " + args[i]);
        System.exit(2);
      }
      conf.set(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    final CountDownLatch stop = new CountDownLatch(1);
    for (String signal : new String[] {"TERM", "INT"}) {
      sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> stop.countDown());
    }
    final MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
        .nameNodePort(Integer.parseInt(args[1]))
        .nameNodeHttpPort(Integer.parseInt(args[2]))
        .numDataNodes(1)
        .format(true)
        .manageNameDfsDirs(true)
        .manageDataDfsDirs(true)
        .checkDataNodeAddrConfig(true) // keep our 127.0.0.1 DataNode addresses
        .build();
    cluster.waitActive();
    System.out.println("StackHdfs ready: hdfs://127.0.0.1:" + cluster.getNameNodePort()
        + " http://127.0.0.1:" + args[2]);
    System.out.flush();
    stop.await();
    System.out.println("StackHdfs stopping");
    cluster.shutdown();
    System.out.println("StackHdfs stopped");
    System.out.flush();
    System.exit(0);
  }
}
