import json, sys, glob, subprocess, os, numpy as np
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, "training")
from domainclf import text
import onnxruntime as ort
G="/tmp/g"
labels=["biology","business","chemistry","computer science","economics","engineering","health","history","law","math","other","philosophy","physics","psychology"]
dev=[json.loads(l) for l in open(f"{G}/b/data/dev.jsonl")]
y=np.array([labels.index(r["label"]) for r in dev])
lin=np.array([json.loads(l) for l in open(".gpu/lin_dev.jsonl")])
tok=text.load_tokenizer("models/domain-minilm/tokenizer.json",128)
encs=[text.encode(tok,[r["text"]]) for r in dev]
runs=sorted(d for d in glob.glob(f"{G}/b/runs/*/") if os.path.isfile(d+"classifier.pt"))
def export(d):
    n=os.path.basename(d.rstrip("/"))
    env=dict(os.environ, DOMAIN_DATA_DIR=f"{G}/b/data", OMP_NUM_THREADS="2")
    r=subprocess.run([sys.executable,"-m","domainclf.export","--ckpt",d,"--encoder","../models/domain-minilm","--out",f"{G}/s/{n}/fp32","--int8-out",f"{G}/s/{n}/int8","--force"],cwd="training",env=env,capture_output=True,text=True)
    return n, r.returncode, r.stderr[-300:]
with ThreadPoolExecutor(8) as ex:
    for n,rc,err in ex.map(export, runs): print("export",n,rc,err if rc else "",flush=True)
def ev(n, prec):
    so=ort.SessionOptions(); so.intra_op_num_threads=2
    s=ort.InferenceSession(f"{G}/s/{n}/{prec}/model.onnx",so,providers=["CPUExecutionProvider"])
    P=[]
    for e in encs:
        lg=s.run(None,e)[0][0]; p=np.exp(lg-lg.max()); P.append(p/p.sum())
    P=np.array(P)
    return (P.argmax(1)==y).mean(), [((1-w)*np.log(P+1e-9)+w*np.log(lin+1e-9)).argmax(1).__eq__(y).mean() for w in (0.3,0.4,0.5,0.6)]
names=[os.path.basename(d.rstrip("/")) for d in runs]
with ThreadPoolExecutor(8) as ex:
    res=list(ex.map(lambda n:(n,ev(n,"int8"),ev(n,"fp32")), names))
for n,(a8,e8),(a32,e32) in res:
    print(f"{n:16s} int8 nn {a8:.4f} ens(w.3/.4/.5/.6) {' '.join(f'{x:.4f}' for x in e8)} | fp32 nn {a32:.4f} ens {' '.join(f'{x:.4f}' for x in e32)}",flush=True)

best=max(res,key=lambda r:(r[1][1][2],r[1][0]))
print("best (int8 ensemble w=0.5):",best[0],flush=True)
import torch, tarfile, io
n=best[0]; d=f"{G}/b/runs/{n}"
sd=torch.load(f"{d}/classifier.pt",map_location="cpu",weights_only=True)
torch.save({k:(v.half() if v.is_floating_point() else v) for k,v in sd.items()},f"/tmp/{n}.pt")
with tarfile.open("/tmp/ck.tar","w") as t:
    t.add(f"{d}/config.json",f"{n}/config.json"); t.add(f"{d}/meta.json",f"{n}/meta.json"); t.add(f"/tmp/{n}.pt",f"{n}/classifier.pt")
